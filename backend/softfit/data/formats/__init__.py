"""One reader per input layout. Each `read(...)` returns a `RawViews`: the views (files or arrays) and
their cameras at the stored image size; `softfit.data.load` does the rest the same way for all."""
