#!/usr/bin/env bash
# Everything a session lent a GPU should run, in one call (the lease is short): the machine and its
# software, the test modules that train and predict (on CUDA there, since --device auto picks it),
# then benchmarks/gpu_bench.py.  Logs go to $OUT (the device tool's folder) or benchmarks/out.
# About 9 minutes on an H200 (results/gpu_bench.md):  bash benchmarks/gpu_session.sh
set -uo pipefail
out=${OUT:-benchmarks/out}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  python3 -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), 'bf16', torch.cuda.is_bf16_supported())"
  nproc
} 2>&1 | tee "$out/env.txt"
timeout "${TEST_TIMEOUT:-150}" python3 -m pytest -q -p no:cacheprovider -p no:benchmark -n 8 -rfEs \
  tests/test_train.py tests/test_predict.py tests/test_models.py tests/test_modelfile.py 2>&1 | tee "$out/tests.log"
timeout 260 python3 benchmarks/gpu_bench.py --models deepbind --n 1000000 --epochs 2 \
  --runs resident,fp32,plain,resident@4096 2>&1 | tee "$out/bench-deepbind.log"
timeout 120 python3 benchmarks/gpu_bench.py --models keras-1d --n 200000 --epochs 2 \
  --runs resident,streamed,resident@1024 2>&1 | tee "$out/bench-keras-1d.log"
