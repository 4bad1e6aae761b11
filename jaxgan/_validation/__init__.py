"""Validation: option domains declared once, the structural checks of games, points and
transformations, and the compiled entry layer (one cached program per structure).

Imports: ``domains`` nothing of jaxgan; ``checks`` and ``cache`` the core's types.
"""
