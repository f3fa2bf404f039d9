"""Reads a run's TensorBoard event files with TensorBoard's own reader.

    tensorboard_reader.py RUN_DIR/tensorboard

Prints one JSON object: {"files": N, "scalars": {tag: [[step, value], ...]}}, each tag's
events in file order.
"""
import glob
import json
import os
import sys

from tensorboard.backend.event_processing import event_accumulator


def main():
    directory = sys.argv[1]
    files = glob.glob(os.path.join(directory, "events.out.tfevents.*"))
    acc = event_accumulator.EventAccumulator(directory, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    scalars = {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    print(json.dumps({"files": len(files), "scalars": scalars}))


if __name__ == "__main__":
    main()
