"""The commands, one module per area; ``cli/parser.py`` says which function runs for which command."""
