"""`python -m diffusion_demo classifier`: train the digit classifier and save it."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from ..config import CLASSIFIER
from ..models.classifier import DEFAULT_DIR, save
from ..training.classifier import train


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(
        prog="python -m diffusion_demo classifier",
        description="Train the digit classifier that judges samples (under a minute on 2 CPU cores).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=DEFAULT_DIR, help=f"output folder (default {DEFAULT_DIR})")
    p.add_argument("--epochs", type=int, default=CLASSIFIER.epochs, help="passes over the training digits")
    p.add_argument("--seed", type=int, default=CLASSIFIER.seed)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return p


def run(args: argparse.Namespace) -> int:
    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1; got {args.epochs}.")
    if args.threads:
        torch.set_num_threads(args.threads)
    clf = train(dataclasses.replace(CLASSIFIER, epochs=args.epochs, seed=args.seed))
    save(clf, args.out)
    print(json.dumps({k: v for k, v in clf.meta.items() if k != "config"} | {"out": str(args.out)}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ValueError as exc:
        parser.error(str(exc))
    return 2
