"""Forecast hourly bike rentals."""
