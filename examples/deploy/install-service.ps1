# Installs the queue worker as a Windows service with NSSM (the seed's recipe).
# Run in an elevated PowerShell:  .\install-service.ps1 -AppDir "C:\path\to\your\app"
# Use -Name GoAdminQueueDev -Dev for the development service of the seed.
param(
    [string]$AppDir = "C:\path\to\your\app",
    [string]$Name = "GoAdminQueue",
    [string]$Config = "configs\production.yaml",
    [switch]$Dev
)
$ErrorActionPreference = "Stop"

if (-not (Get-Command nssm -ErrorAction SilentlyContinue)) {
    Write-Error "nssm is not on the PATH; install it from https://nssm.cc/ first."
    exit 1
}

$Worker = Join-Path $AppDir "worker.exe"
$Display = "Go Admin Queue Worker"
$Description = "Go Admin Queue Worker Service"
if ($Dev) {
    $Display = "Go Admin Queue Worker (Dev)"
    $Description = "Go Admin Queue Worker Service for Development"
}

# 安装服务
nssm install $Name $Worker "-config=$Config"
nssm set $Name AppDirectory $AppDir
nssm set $Name DisplayName $Display
nssm set $Name Description $Description
# Ctrl+C first, so the job in flight finishes; kill only after 90 s.
nssm set $Name AppStopMethodConsole 90000
nssm set $Name AppStdout (Join-Path $AppDir "logs\queue.log")
nssm set $Name AppStderr (Join-Path $AppDir "logs\queue-error.log")

# 启动服务
nssm start $Name

# Later:  nssm stop $Name   /   nssm restart $Name   /   nssm remove $Name confirm
