#Requires -Version 5.1
<#
.SYNOPSIS
  Set up the Windows node of the inventory (i9-14900KF + RTX 4070 SUPER: heavy builds, big models).

.DESCRIPTION
  Installs what is missing with winget (Python 3.12, Ollama, the GitHub CLI), puts the devops-studio
  CLI into its own virtual environment (%ProgramData%\devops-studio\venv), then runs
  `devops-studio node setup <Node>`: Ollama models and profiles are set up directly; the runner
  service is printed as a PowerShell plan to run in this elevated session. Safe to run again.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File scripts\bootstrap-windows.ps1 -Node windows
  powershell -ExecutionPolicy Bypass -File scripts\bootstrap-windows.ps1 -Node windows -DryRun
#>
[CmdletBinding()]
param(
    [string]$Node = 'windows',
    [string]$Inventory = (Join-Path $env:ProgramData 'devops-studio\studio.yml'),
    [string]$Source = $env:DEVOPS_STUDIO_SOURCE,
    [switch]$DryRun
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$prefix = Join-Path $env:ProgramData 'devops-studio'
$repoRoot = Split-Path -Parent $PSScriptRoot
if (-not $Source) {
    if (Test-Path (Join-Path $repoRoot 'pyproject.toml')) {
        $Source = $repoRoot
    } else {
        throw 'Set -Source or DEVOPS_STUDIO_SOURCE (e.g. git+https://github.com/OWNER/devops-studio@v0.1.0)'
    }
}

function Install-IfMissing {
    param([string]$Command, [string]$WingetId)
    if (-not (Get-Command $Command -ErrorAction SilentlyContinue)) {
        Write-Host "Installing $WingetId"
        winget install --id $WingetId --exact --silent --accept-package-agreements --accept-source-agreements
        if ($LASTEXITCODE -ne 0) { throw "winget could not install $WingetId" }
        $env:Path = [Environment]::GetEnvironmentVariable('Path', 'Machine') + ';' +
            [Environment]::GetEnvironmentVariable('Path', 'User')
    }
}

Install-IfMissing -Command 'py' -WingetId 'Python.Python.3.12'
Install-IfMissing -Command 'ollama' -WingetId 'Ollama.Ollama'
Install-IfMissing -Command 'gh' -WingetId 'GitHub.cli'

$venvPython = Join-Path $prefix 'venv\Scripts\python.exe'
if (-not (Test-Path $venvPython)) {
    New-Item -ItemType Directory -Force -Path $prefix | Out-Null
    & py -3.12 -m venv (Join-Path $prefix 'venv')
    if ($LASTEXITCODE -ne 0) { throw 'creating the virtual environment failed' }
}
& $venvPython -m pip install --quiet --upgrade pip
& $venvPython -m pip install --quiet --upgrade $Source
if ($LASTEXITCODE -ne 0) { throw "pip could not install $Source" }
$cli = Join-Path $prefix 'venv\Scripts\devops-studio.exe'

if (-not (Test-Path $Inventory)) {
    New-Item -ItemType Directory -Force -Path (Split-Path -Parent $Inventory) | Out-Null
    Copy-Item (Join-Path $repoRoot 'examples\studio.yml') $Inventory
    Write-Host "Wrote the example inventory to $Inventory : edit owner, repos and the nodes, then run this again."
    exit 1
}

# Ollama listens on 127.0.0.1:11434 once its tray app or service runs.
if (-not (Get-Process -Name 'ollama*' -ErrorAction SilentlyContinue)) {
    Start-Process -FilePath 'ollama' -ArgumentList 'serve' -WindowStyle Hidden
    Start-Sleep -Seconds 3
}

$setupArgs = @('node', 'setup', $Node, '--inventory', $Inventory)
if ($DryRun) { $setupArgs += '--dry-run' }
& $cli @setupArgs
exit $LASTEXITCODE
