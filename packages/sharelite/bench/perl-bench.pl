#!/usr/bin/perl
# The Perl side of bench/throughput.ts: store and fetch loops on the real IPC::ShareLite.
# usage: perl-bench.pl <key> <seconds per measurement>; then one size per line on stdin, one JSON line back each.
use strict;
use warnings;
use IPC::ShareLite;
use Time::HiRes qw(time);

my ( $key, $secs ) = @ARGV;
$| = 1;

sub rate {
  my ( $secs, $fn ) = @_;
  my ( $n, $batch, $t0, $elapsed ) = ( 0, 1, time, 0 );
  while ( $elapsed < $secs ) {
    $fn->() for 1 .. $batch;
    $n += $batch;
    $batch *= 2 if $batch < 4096;
    $elapsed = time - $t0;
  }
  return $n / $elapsed;
}

print "{\"ready\":1}\n";
while ( my $size = <STDIN> ) {
  chomp $size;
  last if $size eq 'exit';
  my $share = IPC::ShareLite->new( -key => $key, -create => 'yes', -destroy => 'yes' ) or die "open: $!";
  my $data = 'x' x $size;
  my $got;
  $share->store($data);    # create the chain before timing
  die "bad fetch" unless length( $share->fetch ) == $size;
  rate( $secs / 5, sub { $share->store($data) } );    # warm-up, as on the Node side
  my $store = rate( $secs, sub { $share->store($data) } );
  my $fetch = rate( $secs, sub { $got = $share->fetch } );
  print "{\"size\":$size,\"store\":$store,\"fetch\":$fetch}\n";
  undef $share;
}
