#!/bin/sh
# Adds Docent to this user's application menu (no root needed): run it from the unpacked folder.
set -e
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$data/applications" "$data/icons/hicolor/256x256/apps" "$data/icons/hicolor/scalable/apps"
cp "$here/share/docent.png" "$data/icons/hicolor/256x256/apps/docent.png"
cp "$here/share/docent.svg" "$data/icons/hicolor/scalable/apps/docent.svg"
sed -e "s|^Exec=.*|Exec=\"$here/docent\" %F|" "$here/share/docent.desktop" > "$data/applications/docent.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
echo "Docent is in the application menu ($data/applications/docent.desktop)."
