"""newsalert.matcher."""
