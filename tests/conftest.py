"""Shared test set-up: a settings environment that works on a fresh machine."""
