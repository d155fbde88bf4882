"""From a captured step to bytes on disk: step assembly, summaries, event files, log directories.

:mod:`.step_jobs` turns a captured step into grid jobs and scalars (pure);
:mod:`.summary_writer` builds the protobuf summaries, :mod:`.eventfile`
frames them as TFRecords, :mod:`.logdirs` says which file system holds a
log directory; :mod:`.background` runs writes in step order off the
training thread. No TensorFlow needed.
"""
