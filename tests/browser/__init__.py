"""Tests of the Feature maps panel (``frontend/``) in headless Chromium, served by a real TensorBoard."""
