"""``python -m wsrun …``: the same command line as the ``wsrun`` script."""

from ._cli import main

if __name__ == "__main__":
    main()
