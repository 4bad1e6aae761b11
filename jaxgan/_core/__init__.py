"""The core: the game types and players, module players (the partition), the outcome codes, the
step algebra, the field, one step of an algorithm and modified games.

Imports: the types (game, players, partition, status, algebra) import only
``_validation.domains``; the entry points (field, step, modified) also ``_validation.checks``.
"""
