"""The GPU screen of the regime search: specs of its lanes, and the script that runs them."""
