"""The file writer: adds output sheets and stage columns to an xlsx/xlsm package in place.

Instead of loading and re-saving the whole workbook (slow, and lossy for parts a library
does not model), it copies every part of the package unchanged except the few that must
change: the receivables sheet (streamed, stage cells appended to each row), workbook.xml
and its relationships, [Content_Types].xml and styles.xml, plus the new sheet parts.
On Linux, when it pays and is safe, the new sheets are rendered in a forked child while
the receivables sheet is streamed (:mod:`.parallel`); the bytes are the same either way.
"""
