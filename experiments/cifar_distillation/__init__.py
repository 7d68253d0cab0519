"""How much of the ensemble's gain does distillation recover on CIFAR-10, and with which recipe?"""
