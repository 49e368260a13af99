"""PulseKit: a self-hosted error and event tracker."""

__version__ = '0.1.0'
