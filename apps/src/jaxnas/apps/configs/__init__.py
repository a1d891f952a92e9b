"""Built-in config files: ``get_config()`` in each; the docstring holds the command line."""
