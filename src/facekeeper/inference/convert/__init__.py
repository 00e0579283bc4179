"""Weight files of other frameworks (Keras h5, torch state_dict) turned into ONNX by project code.

Neither TensorFlow nor torch is imported: the h5 file is read with h5py, the torch archive with a
restricted unpickler that builds only tensors and ordered dicts, and the graphs are written with `onnx`.
Converted files are cached under the data directory, never committed (`cache.py`).
"""
