"""`python -m diffusion_demo.toy2d [--out assets/toy2d] [moons …]`: train the shipped 2D MLPs.

A front end like diffusion_demo/__main__.py. May import: cli (its command is cli/toy2d.py).
"""

from ..cli.toy2d import main

if __name__ == "__main__":
    main()
