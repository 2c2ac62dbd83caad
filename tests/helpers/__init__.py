"""Plain helpers shared by test modules; fixtures built on them are in tests/conftest.py.

A test module imports from here, never from another test module or a conftest.py.
"""
