"""Face models and the pipeline that runs them; knows nothing about HTTP or storage."""
