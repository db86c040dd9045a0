; Inno Setup script for Docent (Windows x64): iscc /DAppVersion=0.1.0 packaging\windows\docent.iss
; Input: dist\docent\ from `python packaging\build.py` (PyInstaller onedir, with vcomp140.dll
; collected by the spec for llama.cpp's OpenMP). Per-user install: no admin rights needed.
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define SrcDir "..\..\dist\docent"

[Setup]
AppId={{5B0C1F2E-7D3A-4C55-9E0A-D0CE17A55E11}
AppName=Docent
AppVersion={#AppVersion}
AppPublisher=Docent
DefaultDirName={localappdata}\Programs\Docent
DefaultGroupName=Docent
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=Docent-{#AppVersion}-windows-x64-setup
SetupIconFile=docent.ico
UninstallDisplayIcon={app}\Docent.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Files]
Source: "{#SrcDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Docent"; Filename: "{app}\Docent.exe"
Name: "{userdesktop}\Docent"; Filename: "{app}\Docent.exe"; Tasks: desktopicon

[Tasks]
Name: desktopicon; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\Docent.exe"; Description: "Start Docent"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; the index, models and settings live in %LOCALAPPDATA%\Docent and are kept (the user's data)
Type: filesandordirs; Name: "{app}\_internal\__pycache__"
