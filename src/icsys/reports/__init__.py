"""Things people read, made from the analytics' results: the board pack, and the charts (SPC with the Making
Data Count icons) that the board pack and the web pages share."""
