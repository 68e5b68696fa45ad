"""newsalert.stack."""
