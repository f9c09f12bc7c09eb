"""Installations service: installations of plugins into portal environments, and the jobs that run them."""
