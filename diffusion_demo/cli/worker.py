"""`python -m diffusion_demo.cli.worker ADDRESS CHECKPOINT DTYPE`: the UNet worker process.

The child serving/worker.py's UNetWorker starts: it loads the compiled UNet and answers ε̂
requests over the Unix socket at ADDRESS (`worker.run_child`). Imports no torch itself: the
child starts while the app is still importing.

May import: serving.worker and the standard library.
"""

from __future__ import annotations

import sys

from ..serving.worker import run_child


def main(argv: list[str] | None = None) -> None:
    address, path, dtype = (argv or sys.argv[1:])[:3]
    run_child(address, path, dtype)


if __name__ == "__main__":
    main()
