#!/bin/sh
# macOS (Apple silicon): build Docent.app with Metal llama.cpp, sign it, wrap it in a .dmg.
#   packaging/macos/make_dmg.sh            # unsigned (ad-hoc) build for local testing
#   DOCENT_CODESIGN_IDENTITY="Developer ID Application: NAME (TEAMID)" \
#   DOCENT_NOTARY_PROFILE=docent-notary packaging/macos/make_dmg.sh   # signed + notarized
# Needs: `make setup` done on this Mac (the Makefile builds llama-cpp-python with
# -DGGML_METAL=ON into ~/.cache/docent/wheels/llama-metal-v1), Xcode command-line tools.
set -eu
cd "$(dirname "$0")/../.."
[ "$(uname -s)-$(uname -m)" = "Darwin-arm64" ] || { echo "run this on an Apple-silicon Mac"; exit 1; }
make setup
make .venv/.docent-package-tools
.venv/bin/python packaging/build.py
app="dist/Docent.app"
ver="$(.venv/bin/python -c 'from app.version import app_version; print(app_version())')"
identity="${DOCENT_CODESIGN_IDENTITY:--}"   # "-" = ad-hoc
# Inside-out signing with the hardened runtime (PyInstaller signed the binaries when an
# identity was set in the spec; this re-signs the whole bundle consistently).
find "$app/Contents" -type f \( -name '*.dylib' -o -name '*.so' \) -print0 |
  xargs -0 codesign --force --timestamp --options runtime --sign "$identity"
codesign --force --timestamp --options runtime --entitlements packaging/macos/entitlements.plist \
  --sign "$identity" "$app"
codesign --verify --deep --strict --verbose=2 "$app"
# The Metal build must be what ships: no CPU-only libggml in the app.
ls "$app/Contents/Frameworks/llama_cpp/lib/" | grep -q 'ggml-metal\|libggml' || { echo "no llama.cpp libs"; exit 1; }
"$app/Contents/MacOS/docent" --self-test --model "$(.venv/bin/python -c 'from app.resources import sample_model; print(sample_model())')"
dmg="dist/Docent-$ver-arm64.dmg"
rm -f "$dmg"
staging="$(mktemp -d)"
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"
hdiutil create -volname "Docent $ver" -srcfolder "$staging" -ov -format UDZO "$dmg"
rm -rf "$staging"
if [ "$identity" != "-" ]; then
  codesign --force --timestamp --sign "$identity" "$dmg"
  if [ -n "${DOCENT_NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$dmg" --keychain-profile "$DOCENT_NOTARY_PROFILE" --wait
    xcrun stapler staple "$dmg"
  fi
fi
echo "$dmg"
