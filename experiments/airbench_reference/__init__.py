"""Does airbench94's own file reach its reported accuracy on this project's CIFAR-10?"""
