"""Where payload texts come from: QR codes in image files (screen and clipboard later).

Turns pixels into strings and knows nothing of what the strings mean (that is `formats`). May
import the model's errors only.
"""
