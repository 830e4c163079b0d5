"""HTTP front doors for the official-account webhook and bureau staff, plus shared handler code."""
