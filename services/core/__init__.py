"""Shared code of all pullprint services: the only package services import from each other."""

VERSION = "0.1.0"
