"""Small widgets shared by the dashboard pages."""
