"""Why random-feature KD seemed to gain on CIFAR, and how random features compare with the paper's."""
