"""``python -m openseeker.train``: ``train sft``'s flags in a process of its own, what ``accelerate launch -m``
runs on every GPU (``accelerate launch --config_file configs/accelerate/zero3.yaml -m openseeker.train ...``)."""

import logging
import sys

from openseeker.train.cli import sft_main

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(sft_main())
