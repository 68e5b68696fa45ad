"""newsalert.backtest."""
