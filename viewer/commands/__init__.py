"""The command-line subcommands; each module adds its parser and implements ``run(args)``."""
