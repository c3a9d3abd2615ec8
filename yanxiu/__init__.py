"""yanxiu (研修, "teacher study"): capacity planning and load testing for teacher study campaigns."""

__version__ = "0.1.0"
