# Package of the cspy end-to-end target pkg_main.py (short filename check).
