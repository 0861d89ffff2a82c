"""Where payload texts come from: QR codes in image files, on the screen and on the clipboard,
and text copied to the clipboard.

Turns pixels into strings and knows nothing of what the strings mean (that is `formats`). May
import the model's errors only.
"""
