"""newsalert.api."""
