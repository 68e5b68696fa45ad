"""newsalert.rules."""
