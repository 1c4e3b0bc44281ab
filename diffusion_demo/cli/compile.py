"""`python -m diffusion_demo.cli.compile CHECKPOINT DTYPE OUT`: build the compiled UNet.

The child process serving/compiled.py starts (niced) to build the AOTInductor package for
CHECKPOINT at DTYPE (fp32, bf16) into OUT, so the app's own threads keep the cores.

May import: models, serving and libraries.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..models import unet
from ..serving.compiled import build


def main(argv: list[str] | None = None) -> int:
    """Build the package for CHECKPOINT at DTYPE into OUT (the app's first start runs this)."""
    checkpoint, dtype, out = argv or sys.argv[1:]
    den = unet.load(checkpoint, autocast=dtype)
    print(f"built in {build(den, Path(out)):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
