#!/usr/bin/perl
# Process A or B of the Perl IPC::ShareLite contender (perl-sharelite.ts): speaks the side protocol of
# side-protocol.ts, one JSON object per line on stdin and stdout, with the same timed loops as workloads.ts. The
# values are payload.ts's; the small object is frozen with Storable, as IPC::ShareLite's documentation does.
use strict;
use warnings;
use IPC::ShareLite;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Storable qw(freeze thaw);
use Time::HiRes qw(clock_gettime usleep CLOCK_MONOTONIC);

my $json  = JSON::PP->new->canonical;
my $STOP  = 0x7fffffff;
my $WAIT  = 60_000;
my %BYTES = ( '64B' => 64, '4KB' => 4096, '64KB' => 65536, '1MB' => 1 << 20 );
my ( %share, %value, %role );
$| = 1;

sub now_ms { clock_gettime(CLOCK_MONOTONIC) * 1000 }

sub make_value {
  my ( $kind, $seq ) = @_;
  if ( $kind eq 'object' ) {
    return {
      id     => $seq + 0,
      name   => 'widget-42',
      tags   => [qw(alpha beta gamma)],
      nested => { price => 9.99, stock => { warehouse => 3, shelf => 12 }, active => JSON::PP::true },
    };
  }
  my $n = $BYTES{$kind};
  my $b = pack 'C*', map { ( $_ * 31 + 7 ) & 0xff } 0 .. $n - 1;
  set_seq( $kind, $b, $seq );
  return $b;
}

# set_seq, seq_of and store_value work on $_[1], an alias of the caller's value: `my ($kind, $v) = @_` would copy
# a 1 MB string on every call.
sub set_seq {
  my ( $kind, undef, $seq ) = @_;
  if ( $kind eq 'object' ) { $_[1]{id} = $seq; return }
  substr( $_[1], 0,  4, pack( 'V', $seq ) );
  substr( $_[1], -4, 4, pack( 'V', $seq ) );
}

sub seq_of {
  my ($kind) = @_;
  return $_[1]{id} if $kind eq 'object';
  return -1        if length( $_[1] ) < 8;
  my ( $a, $b ) = ( unpack( 'V', substr( $_[1], 0, 4 ) ), unpack( 'V', substr( $_[1], -4 ) ) );
  return $a == $b ? $a : -1;
}

sub store_value {
  my ($kind) = @_;
  $share{$kind}->store( $kind eq 'object' ? freeze( $_[1] ) : $_[1] );
}

sub fetch_value {
  my ($kind) = @_;
  my $raw = $share{$kind}->fetch;
  return $kind eq 'object' ? thaw($raw) : $raw;
}

# Polls version() (a read of the header, no semaphore) and fetches when it moves. Paced like workloads.ts Poll:
# spins of 50 us between sleeps of 20 us (the clock is read every 4 misses: a check costs more here).
sub wait_for {
  my ( $kind, $seq ) = @_;
  my ( $s, $version, $deadline ) = ( $share{$kind}, -1, now_ms() + $WAIT );
  my $spin_until = now_ms() + 0.05;
  for ( my $i = 1 ; ; $i++ ) {
    my $now = $s->version;
    if ( $now != $version ) {
      $version = $now;
      my $v = fetch_value($kind);
      return $v if seq_of( $kind, $v ) >= $seq;
    }
    next if $i & 3;
    my $t = now_ms();
    next if $t < $spin_until;
    die "Timed out waiting for a value with seq >= $seq\n" if $t > $deadline;
    usleep(20);
    $spin_until = now_ms() + 0.05;
  }
}

# Like workloads.ts phase(): batches that double while a batch takes under 1 ms.
sub phase {
  my ( $op, $ms, $max ) = @_;
  my ( $n, $batch, $t0 ) = ( 0, 1, now_ms() );
  my $t = $t0;
  while ( $t - $t0 < $ms && $n < $max ) {
    my $b = $batch < $max - $n ? $batch : $max - $n;
    $op->() for 1 .. $b;
    $n += $b;
    my $now = now_ms();
    $batch *= 2 if $now - $t < 1 && $batch < 4096;
    $t = $now;
  }
  return { ops => $n, ms => $t - $t0 };
}

sub timed {
  my ( $op, $c ) = @_;
  my $max = $c->{maxOps};
  phase( $op, $c->{ms} / 5, 9**9**9 ) unless defined $max;
  return phase( $op, $c->{ms}, defined $max ? $max : 9**9**9 );
}

sub reply { print $json->encode( { ok => JSON::PP::true, %{ $_[0] || {} } } ), "\n" }

sub close_kind {
  my ($kind) = @_;
  my $s = delete $share{$kind} or return;
  $s->destroy(1) if $role{$kind} eq 'a';    # removed by DESTROY, below
  undef $s;
  delete $value{$kind};
}

my %commands = (
  open => sub {
    my ($c) = @_;
    my ( $kind, $role ) = ( $c->{kind}, $c->{role} );
    my $len  = $BYTES{$kind} || 0;
    my $size = $len + 64 > 65536 ? $len + 64 : 65536;    # one segment per value, as for @shm/sharelite
    $share{$kind} = IPC::ShareLite->new(
      -key     => $c->{config}{$kind},
      -create  => $role eq 'a' ? 'yes' : 'no',
      -destroy => 'no',
      -size    => $size,
    ) or die "IPC::ShareLite->new: $!\n";
    $role{$kind}  = $role;
    $value{$kind} = make_value( $kind, 1 );
    store_value( $kind, $value{$kind} ) if $role eq 'a';
    reply();
  },
  store => sub {
    my ($c)  = @_;
    my $kind = $c->{kind};
    my $seq  = $c->{seq0};
    reply(
      timed(
        sub {
          set_seq( $kind, $value{$kind}, $seq++ );
          store_value( $kind, $value{$kind} );
        },
        $c
      )
    );
  },
  fetch => sub {
    my ($c)  = @_;
    my $kind = $c->{kind};
    my $len  = $BYTES{$kind} || 0;
    my $last = 0;
    reply(
      timed(
        sub {
          my $v = fetch_value($kind);
          my $s = seq_of( $kind, $v );
          die "fetch went back from seq $last to $s\n" if $s < $last;
          $last = $s;
          die "fetch returned " . length($v) . " bytes, expected $len\n" if $len && length($v) != $len;
        },
        $c
      )
    );
  },
  ping => sub {
    my ($c)  = @_;
    my $kind = $c->{kind};
    my $seq  = $c->{seq0};
    my $r    = timed(
      sub {
        set_seq( $kind, $value{$kind}, $seq );
        store_value( $kind, $value{$kind} );
        wait_for( $kind, $seq + 1 );
        $seq += 2;
      },
      $c
    );
    set_seq( $kind, $value{$kind}, $STOP );
    store_value( $kind, $value{$kind} );
    reply($r);
  },
  pong => sub {
    my ($c) = @_;
    my ( $kind, $expect, $trips ) = ( $c->{kind}, $c->{seq0}, 0 );
    reply( { started => JSON::PP::true } );
    for ( ; ; ) {
      my $s = seq_of( $kind, wait_for( $kind, $expect ) );
      last if $s == $STOP;
      set_seq( $kind, $value{$kind}, $s + 1 );
      store_value( $kind, $value{$kind} );
      $expect = $s + 2;
      $trips++;
    }
    reply( { ops => $trips } );
  },
  put => sub {
    my ($c) = @_;
    store_value( $c->{kind}, make_value( $c->{kind}, $c->{seq} ) );
    reply();
  },
  get => sub {
    my ($c)  = @_;
    my $kind = $c->{kind};
    my $v    = defined $c->{seq} ? wait_for( $kind, $c->{seq} ) : fetch_value($kind);
    reply( { value => $kind eq 'object' ? { object => $v } : { bytes => encode_base64( $v, '' ) } } );
  },
  close => sub { close_kind( $_[0]{kind} ); reply() },
  exit  => sub { close_kind($_) for keys %share; reply(); exit 0 },
);

while ( my $line = <STDIN> ) {
  my $c = eval { $json->decode($line) };
  my $fn = $c && $commands{ $c->{cmd} // '' };
  unless ($fn) {
    print $json->encode( { ok => JSON::PP::false, error => "bad command: $line" } ), "\n";
    next;
  }
  eval { $fn->($c); 1 } or print $json->encode( { ok => JSON::PP::false, error => "$@" } ), "\n";
}
close_kind($_) for keys %share;    # stdin closed: the driver is gone
