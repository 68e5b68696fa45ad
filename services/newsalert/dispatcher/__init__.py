"""newsalert.dispatcher."""
