"""The command room: the ``genebert-*`` console scripts start here (setup.cfg ``console_scripts``).

Each entry point checks the torch / torchvision pair, then imports its command's ``main`` with a
plain import statement (no module is loaded by a string) and runs it. This package sits above the
data and model rooms: it imports them, and nothing of ours imports it.
"""
