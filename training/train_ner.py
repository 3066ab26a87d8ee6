"""Fine-tune an NER model from a checkout: `accelerate launch training/train_ner.py --config ner/<name>`.

A thin wrapper: an installed wheel runs the same entry point as `accelerate launch -m khabar.cli train ner ...`.
"""

import sys

from khabar.cli.train import script_main

if __name__ == "__main__":
    sys.exit(script_main("ner"))
