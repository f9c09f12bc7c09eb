"""The web portal service (the package is src/marketplace_web); this file makes its tests the package web.tests."""
