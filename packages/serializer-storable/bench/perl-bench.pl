#!/usr/bin/perl
# Perl's own Storable on the data the Node benchmark uses: for each image file given, thaws it once to get the
# value, then times freeze, nfreeze, thaw(freeze image) and thaw(nfreeze image) of it. Prints one JSON line per
# file: {"name":..., "freeze":ops/s, "nfreeze":..., "thawNative":..., "thawNetwork":..., "bytes":...}.
# Usage: perl-bench.pl <seconds> <name>=<image file> ...
use strict;
use warnings;
use Storable qw(freeze nfreeze thaw);
use Time::HiRes qw(time);

my $secs = shift;
sub rate {
  my ($fn) = @_;
  my ( $n, $batch, $t0 ) = ( 0, 1, time );
  my $el = 0;
  while ( $el < $secs ) {
    $fn->() for 1 .. $batch;
    $n += $batch;
    $batch *= 2 if $batch < 4096;
    $el = time - $t0;
  }
  return $n / $el;
}
for my $arg (@ARGV) {
  my ( $name, $file ) = split /=/, $arg, 2;
  open my $fh, '<:raw', $file or die "$file: $!";
  my $img = do { local $/; <$fh> };
  my $v   = thaw($img);
  my $nat = freeze($v);
  my $net = nfreeze($v);
  rate( sub { thaw($net) } ) if $secs > 0;    # warm-up
  my %r = (
    freeze      => rate( sub { freeze($v) } ),
    nfreeze     => rate( sub { nfreeze($v) } ),
    thawNative  => rate( sub { thaw($nat) } ),
    thawNetwork => rate( sub { thaw($net) } ),
  );
  print '{"name":"', $name, '","bytes":', length($net), join( '', map { ",\"$_\":$r{$_}" } sort keys %r ), "}\n";
}
